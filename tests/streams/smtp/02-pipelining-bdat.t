<<<
220 mx.example.cn ESMTP

>>>
EHLO c

<<<
250-mx.example.cn
250-PIPELINING
250 CHUNKING

>>>
MAIL FROM:<a@example.cn>
RCPT TO:<b@example.cn>
BDAT 30
Subject: chunks

first part BDAT 24 LAST
11010519491231002X end

<<<
250 ok
250 ok
250 octets
250 done

>>>
MAIL FROM:<c@example.cn>
RCPT TO:<d@example.cn>
DATA

<<<
250 ok
250 ok
354 go

>>>
Subject: second

mobile 13812345678
.
QUIT

<<<
250 ok
221 bye

