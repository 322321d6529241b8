>>>
GET /odd HTTP/1.1
Host: o.test


<<<
HTTP/1.1 200 OK
Transfer-Encoding: chunked

0005
odd c
 3 
hun
0x4
ks 1
11
1010519491231002X
0


