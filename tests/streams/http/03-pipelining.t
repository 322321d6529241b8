>>>
GET /a HTTP/1.1
Host: p.test

HEAD /b HTTP/1.1
Host: p.test

GET /c HTTP/1.1
Host: p.test


<<<
HTTP/1.1 200 OK
Content-Length: 3

aaaHTTP/1.1 200 OK
Content-Length: 1000

HTTP/1.1 200 OK
Transfer-Encoding: chunked

2
cc
3
ccc
0


