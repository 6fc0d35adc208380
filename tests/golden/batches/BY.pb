ë
BY€üÿ× *M
	190123456Minsk Tractor Logistics OAO1 Customs Road *Type3PZ€ÓØÊ`*C
	191234567Brest Transit OOO2 Customs Road *Type1PZ€ÓØÊ`*E
BY192345678Gomel Freight OOO3 Customs Road *Type2PZ€ÓØÊ`O
	BY-2026-1@z¦ ³\U•d$ª}gL-ÆDˆõº‚z_wHj‹ä~õp9Şš¢UÇŸëŸâ¼Wa)-$;şfö¼iSfZ	