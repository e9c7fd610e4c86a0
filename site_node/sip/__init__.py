"""The SIP edge (``callcenter sip-edge``): a B2BUA between the carrier's trunk and the cluster.

Behind Kamailio (which load-balances and health-checks edges with its ``dispatcher``), an edge
terminates each carrier dialog and its RTP, asks central to route the call (the caller number
is network-provided: the request carries the edge's own ``edge`` token), joins the chosen
site's signalling socket like our Python client does, and offers plain RTP there
(``rtp_offer``); the site makes an RTP leg in its media switch. The edge relays packets between
the two (no transcoding). When the site dies, the edge re-joins the call where central says it
is now and re-offers; the carrier's dialog and media address never change.

    message.py   SIP messages: parsing (400 on anything malformed), responses, requests
    ua.py        the UDP user agent: transactions, retransmissions, dialogs, OPTIONS
    call.py      one carrier call: route, join, answer, CANCEL, BYE either way, failover
    relay.py     the RTP relay between the carrier and the site
    config.py    the ``sip`` configuration section;  cli.py  the ``sip-edge`` command
"""
