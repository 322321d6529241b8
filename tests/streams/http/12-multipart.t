>>>
POST /upload HTTP/1.1
Host: u.test
Content-Type: multipart/form-data; boundary=XyZ
Content-Length: 202

--XyZ
Content-Disposition: form-data; name="who"

张三
--XyZ
Content-Disposition: form-data; name="file"; filename="staff.csv"
Content-Type: text/csv

name,id
zs,11010519491231002X
--XyZ--

<<<
HTTP/1.1 200 OK
Content-Length: 0


