# reject with a delivery is refused at run time (RFC 5429 2.4): implicit keep
require ["reject", "fileinto"];
fileinto "Saved";
if header :contains "subject" "Meeting" { reject "no"; }
