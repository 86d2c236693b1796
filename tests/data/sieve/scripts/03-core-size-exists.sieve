# size :over/:under with quantifiers, exists, true/false
require "fileinto";
if size :over 1K { fileinto "big"; }
if size :under 300 { fileinto "small"; }
if exists ["date", "message-id"] { fileinto "dated"; }
if exists "x-nonexistent" { fileinto "never"; }
if false { discard; }
if true { keep; }
