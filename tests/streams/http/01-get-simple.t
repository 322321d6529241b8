>>>
GET /user/%E5%BC%A0%E4%B8%89?id=11010519491231002X&q=a+b%20c HTTP/1.1
Host: example.test
User-Agent: curl/8.0
Cookie: sid=abc; phone=%2B8613812345678
X-Trace: t1
Referer: http://example.test/?m=13812345678


<<<
HTTP/1.1 200 OK
Content-Type: text/html
Content-Length: 28

<p>id 11010519491231002X</p>
