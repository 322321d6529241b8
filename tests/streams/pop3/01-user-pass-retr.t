<<<
+OK Dovecot ready.

>>>
USER zhangsan

<<<
+OK

>>>
PASS 13812345678

<<<
+OK Logged in.

>>>
LIST

<<<
+OK 1 messages:
1 120
.

>>>
RETR 1

<<<
+OK 120 octets
Subject: =?utf-8?B?5bel6LWE5Y2V?=
Content-Type: text/plain; charset=utf-8

身份证 11010519491231002X
..leading dot
.

>>>
QUIT

<<<
+OK Logging out.

