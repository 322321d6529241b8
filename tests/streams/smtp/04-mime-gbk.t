<<<
220 mx.example.cn ESMTP

>>>
HELO c
MAIL FROM:<zs@example.cn>
RCPT TO:<li@example.com>
DATA

<<<
250 ok
250 ok
250 ok
354 go

>>>
From: =?utf-8?B?5byg5LiJ?= <zs@example.cn>
To: li@example.com
Subject: =?gbk?B?1vfM4qO61cXI/bXEye233dak?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=gbk
Content-Transfer-Encoding: base64

0NXD+6O61cXI/SDJ7bfd1qSjujExMDEwNTE5NDkxMjMxMDAyWAo=
--b2
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>=E6=89=8B=E6=9C=BA 138123=
45678</p>
--b2--
--b1
Content-Type: text/csv
Content-Disposition: attachment; filename*=gbk''%D5%C5%C8%FD.csv
Content-Transfer-Encoding: base64

bmFtZSxtb2JpbGUKemhhbmcsMTM4MTIzNDU2NzgK
--b1--
.

<<<
250 ok

