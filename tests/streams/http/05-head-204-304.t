>>>
HEAD /h HTTP/1.1
Host: h.test

GET /n HTTP/1.1
Host: h.test

GET /e HTTP/1.1
Host: h.test

GET /ok HTTP/1.1
Host: h.test


<<<
HTTP/1.1 200 OK
Content-Length: 50
Content-Type: text/plain

HTTP/1.1 304 Not Modified
Content-Length: 10

HTTP/1.1 204 No Content
Content-Length: 7

HTTP/1.1 200 OK
Content-Length: 2

ok
