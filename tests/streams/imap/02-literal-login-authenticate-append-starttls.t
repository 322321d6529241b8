<<<
* OK ready

>>>
a1 LOGIN {8}

<<<
+ OK

>>>
zhangsan {11}

<<<
+ OK

>>>
13812345678

<<<
a1 NO wrong

>>>
a2 AUTHENTICATE PLAIN

<<<
+ 

>>>
AGxpc2kAMTEwMTA1MTk0OTEyMzEwMDJY

<<<
a2 OK

>>>
a3 APPEND Drafts (\Seen) {50}

<<<
+ go

>>>
Subject: draft

card holder 11010519491231002X

>>>


<<<
a3 OK appended

>>>
a4 STARTTLS

<<<
a4 OK Begin TLS

>>>
 a5 LOGIN x 13812345678

