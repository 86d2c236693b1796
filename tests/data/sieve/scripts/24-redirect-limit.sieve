# more redirects than the limit (4, Pigeonhole's sieve_max_redirects): runtime error, implicit keep
redirect "a@example.net";
redirect "b@example.net";
redirect "c@example.net";
redirect "d@example.net";
redirect "e@example.net";
