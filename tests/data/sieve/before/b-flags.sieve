require ["imap4flags", "fileinto", "copy"];
addflag "$Global";
if header :contains "subject" "SPAM" { fileinto "Junk"; }
if header :contains "list-id" "dev" { fileinto :copy "Archive/dev"; }
