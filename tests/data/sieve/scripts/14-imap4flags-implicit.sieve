# the internal flags apply to the implicit keep
require "imap4flags";
if header :contains "from" "alice" { addflag "\\Answered"; }
addflag "\\Seen";
