>>>
GET /close HTTP/1.1
Host: k.test
Connection: close


<<<
HTTP/1.0 200 OK
Content-Type: text/plain

until close 11010519491231002X
