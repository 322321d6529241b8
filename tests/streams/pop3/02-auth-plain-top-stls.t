<<<
+OK ready

>>>
AUTH PLAIN

<<<
+ 

>>>
AHdhbmd3dQAxMzgxMjM0NTY3OA==

<<<
+OK

>>>
TOP 1 0
RETR 2

<<<
+OK
Subject: top 11010519491231002X

.
-ERR no such message

>>>
STLS

<<<
+OK Begin TLS negotiation

>>>
 11010519491231002X

<<<
 13812345678

