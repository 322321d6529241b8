>>>
GET /j HTTP/1.1
Host: j.test


<<<
HTTP/1.1 200 OK
Content-Type: application/json
Content-Length: 95

{"name":"\u5f20\u4e09","id":"\u0031\u0031010519491231002X","e":"\ud83d\ude00","u":"http:\/\/x"}
