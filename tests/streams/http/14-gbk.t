>>>
GET /g1 HTTP/1.1
Host: g.test

GET /g2 HTTP/1.1
Host: g.test


<<<
HTTP/1.1 200 OK
Content-Type: text/html; charset=GB2312
Content-Length: 37

姓名：张三 身份证：11010519491231002XHTTP/1.1 200 OK
Content-Type: text/html
Content-Length: 37

姓名：张三 身份证：11010519491231002X
