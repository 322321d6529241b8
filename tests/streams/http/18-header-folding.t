>>>
GET /f HTTP/1.1
Host: f.test
X-Long: part1,
 part2
x-MiXeD:   spaced  


<<<
HTTP/1.1 200 OK
Content-Type: text/plain
Content-Length:
 25

folded 11010519491231002X
