>>>
GET /private HTTP/1.1
Host: b.test
Authorization: Basic emhhbmdzYW46MTM4MTIzNDU2Nzg=


<<<
HTTP/1.1 401 Unauthorized
Content-Length: 0


