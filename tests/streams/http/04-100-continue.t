>>>
POST /api HTTP/1.1
Host: c.test
Expect: 100-continue
Content-Type: application/json
Content-Length: 24


<<<
HTTP/1.1 100 Continue


>>>
{"mobile":"13812345678"}
<<<
HTTP/1.1 200 OK
Content-Length: 2
Connection: keep-alive

ok
>>>
GET /next HTTP/1.1
Host: c.test


<<<
HTTP/1.1 200 OK
Content-Length: 4

next
