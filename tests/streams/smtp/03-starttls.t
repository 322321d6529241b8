<<<
220 mx.example.cn ESMTP

>>>
EHLO c

<<<
250-mx.example.cn
250 STARTTLS

>>>
STARTTLS

<<<
220 2.0.0 Ready to start TLS

>>>
 ciphertext-looking 11010519491231002X
MAIL FROM:<x@example.cn>

<<<
 13812345678

