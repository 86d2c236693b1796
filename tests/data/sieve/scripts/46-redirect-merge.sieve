# redirect duplicates merge; :copy and plain of the same address; case of the address
require "copy";
redirect :copy "archive@example.net";
redirect "ARCHIVE@example.net";
redirect :copy "second@example.net";
