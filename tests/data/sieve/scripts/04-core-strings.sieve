# quoted and multi-line strings, escapes, comments, dot-stuffing
require ["fileinto", "reject"];
/* bracket
   comment */
if header :is "subject" "Meeting on Tuesday" { # hash comment
	fileinto "quoted\"folder";
}
if header :contains "subject" text:
Release
.
{
	reject text:
Your message was refused.
..dot-stuffed line
.
;
}
