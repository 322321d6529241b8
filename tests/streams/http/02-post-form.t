>>>
POST /submit HTTP/1.1
Host: a.test
Content-Type: application/x-www-form-urlencoded
Content-Length: 54

name=%E5%BC%A0%E4%B8%89&id=11010519491231002X&addr=a+b
<<<
HTTP/1.1 204 No Content
Server: t


