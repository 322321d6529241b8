<<<
220 mx.example.cn ESMTP Postfix

>>>
EHLO client.example.org

<<<
250-mx.example.cn
250-PIPELINING
250-AUTH PLAIN LOGIN
250 8BITMIME

>>>
AUTH LOGIN

<<<
334 VXNlcm5hbWU6

>>>
emhhbmdzYW4=

<<<
334 UGFzc3dvcmQ6

>>>
MTM4MTIzNDU2Nzg=

<<<
235 2.7.0 Authentication successful

>>>
MAIL FROM:<zhangsan@example.cn> SIZE=100

<<<
250 ok

>>>
RCPT TO:<13812345678@example.com>

<<<
250 ok

>>>
DATA

<<<
354 go ahead

>>>
Subject: plain

line one
..dot stuffed 11010519491231002X
.

<<<
250 queued

>>>
QUIT

<<<
221 bye

