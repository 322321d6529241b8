>>>
GET /one HTTP/1.1
Host: r.test

GET /lost HTTP/1.1

><> 30
>>>
ppppppppppppppppppppppppppppppp

GET /three?id=11010519491231002X HTTP/1.1
Host: r.test


<<<
HTTP/1.1 200 OK
Content-Length: 100

xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
><> 40
<<<
yyyyyyyyyyyyyyyyyyyyHTTP/1.1 200 OK
Content-Length: 5

three
