<<<
* OK [CAPABILITY IMAP4rev1] Dovecot ready.

>>>
a1 LOGIN zhangsan "13812345678"

<<<
a1 OK Logged in

>>>
a2 SELECT INBOX

<<<
* 1 EXISTS
a2 OK [READ-WRITE] Select completed

>>>
a3 FETCH 1 (ENVELOPE BODY[])

<<<
* 1 FETCH (ENVELOPE ("date" "=?utf-8?B?6Lqr5Lu96K+BIDExMDEwNTE5NDkxMjMxMDAyWA==?=" NIL) BODY[] {698}

<<<
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

<<<
)
a3 OK Fetch completed

>>>
a4 UID FETCH 1 (BODY[TEXT])

<<<
* 1 FETCH (UID 1 BODY[TEXT] {17}
mobile 1381234567)
a4 OK done

>>>
a5 LOGOUT

<<<
* BYE
a5 OK

