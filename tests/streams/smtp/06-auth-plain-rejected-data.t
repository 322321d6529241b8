<<<
220 mx.example.cn ESMTP

>>>
EHLO c

<<<
250 mx.example.cn

>>>
AUTH PLAIN AGxpc2kAMTEwMTA1MTk0OTEyMzEwMDJY

<<<
235 ok

>>>
MAIL FROM:<a@example.cn>
DATA

<<<
250 ok
554 no valid recipients

>>>
RCPT TO:<g@example.cn>
QUIT

<<<
250 ok
221 bye

