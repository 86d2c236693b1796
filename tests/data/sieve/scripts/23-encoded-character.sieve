# encoded-character (RFC 5228 2.4.2.4)
require ["encoded-character", "fileinto"];
if header :contains "subject" "${hex:4d 65 65 74}" { fileinto "hex-${hex:41}"; }
if header :contains "subject" "${unicode:52}elease" { fileinto "uni-${unicode: 263a}"; }
if header :is "subject" "${hex:zz}" { fileinto "never"; }
