# imap4flags (RFC 5232): internal variable, named variables, :flags, hasflag
require ["imap4flags", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
setflag "\\Seen";
addflag ["\\Flagged", "Junk"];
addflag "\\flagged";
removeflag "Junk";
if hasflag :is "\\seen" { fileinto "has-seen"; }
setflag "mine" "$Label1 \\Answered";
addflag "mine" "$Label2";
if hasflag :contains "mine" "Label" { fileinto :flags "${mine}" "labelled"; }
if hasflag :count "eq" :comparator "i;ascii-numeric" "mine" "3" { fileinto "three-flags"; }
if header :contains "subject" "Meeting" { keep :flags "\\Draft"; }
