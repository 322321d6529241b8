>>>
GET /c HTTP/1.1
Host: c.test


<<<
HTTP/1.1 200 OK
Transfer-Encoding: chunked
Trailer: X-Sum

5;name="v"
card=
a;name="v"
6222021234
1f;name="v"
567890123&id=11010519491231002X
0
X-Sum: 1


