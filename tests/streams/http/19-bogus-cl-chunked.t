>>>
GET /b HTTP/1.1
Host: b.test


<<<
HTTP/1.1 200 OK
Content-Length: 5
Transfer-Encoding: chunked

6
hidden
13
 11010519491231002X
0


