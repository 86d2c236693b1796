# reject (RFC 5429) only when nothing else delivers
require "reject";
if header :contains "subject" "SPAM" { reject "We do not want your spam."; }
