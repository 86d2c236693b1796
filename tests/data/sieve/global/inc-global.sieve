require ["include", "variables", "fileinto"];
global "who";
if string :is "${who}" "personal" { fileinto "global-saw-personal"; }
set "who" "global";
