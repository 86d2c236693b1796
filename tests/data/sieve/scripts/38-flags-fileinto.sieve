# imap4flags with variables: hasflag :matches, removeflag of everything, :flags ""
require ["imap4flags", "fileinto", "variables"];
setflag "f" ["\\Seen", "$Work", "\\Flagged"];
if hasflag :matches "f" "$W*" { fileinto :flags "${f}" "work"; }
removeflag "f" ["\\seen", "$work", "\\FLAGGED"];
if not hasflag :matches "f" "*" { fileinto :flags "" "empty"; }
addflag "\\Answered";
if header :contains "subject" "ticket" { keep :flags "\\Seen"; }
