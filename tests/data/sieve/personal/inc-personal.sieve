require ["include", "variables", "fileinto"];
global "who";
fileinto "personal-${who}";
set "who" "personal";
if header :contains "subject" "Meeting" { return; }
fileinto "personal-end";
