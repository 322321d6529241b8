>>>
GET /lf HTTP/1.1
Host: l.test


<<<
HTTP/1.1 200 OK
Transfer-Encoding: chunked

1a
lf only 11010519491231002X
0


