<<<
220 mx.example.cn ESMTP

>>>
EHLO c
MAIL FROM:<a@example.cn>
RCPT TO:<b@example.cn>
DATA

<<<
250 ok
250 ok
250 ok
354 go

>>>
Subject: gap

before the gap
lost
><> 200
>>>
tail of a lost line
.
MAIL FROM:<e@example.cn>
RCPT TO:<f@example.cn>
DATA

<<<
250 queued
250 ok
250 ok
354 go

>>>
Subject: after

resynced 11010519491231002X
.

<<<
250 ok

