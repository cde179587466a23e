"""The provider ranking (综合评价排名): the public table with its formula, the admins'
优选/淘汰 buttons, and its CSV/XLSX export."""
