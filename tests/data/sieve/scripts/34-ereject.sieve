# ereject (RFC 5429 2.1): Pigeonhole 0.5 does not implement it
require "ereject";
if header :contains "subject" "SPAM" { ereject "refused"; }
