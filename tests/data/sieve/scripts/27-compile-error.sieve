# an unknown command is a compile error (both refuse the script)
require "fileinto";
if header :is "subject" "x" { frobnicate; }
