# stop ends the script; nothing after it runs
require "fileinto";
if true { stop; }
fileinto "never";
