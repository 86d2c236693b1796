# args: -P PERSONAL -I GLOBAL
# include (RFC 6609): personal and global, :once, :optional, global variables, return
require ["include", "variables", "fileinto"];
global "who";
set "who" "main";
include :personal "inc-personal";
include :personal :once "inc-personal";
include :global "inc-global";
include :optional "does-not-exist";
fileinto "after-${who}";
