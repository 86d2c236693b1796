# RFC 5228: header :is/:contains/:matches, anyof/allof/not, stop
if header :contains "subject" "meeting" { discard; stop; }
if anyof (header :is "X-Priority" "1", header :matches "subject" "*release*") { discard; }
elsif allof (not exists "list-id", header :contains ["to", "cc"] "example.org") { keep; }
else { redirect "archive@example.net"; }
