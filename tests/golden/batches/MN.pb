ğ
MN€üÿ× *N
1234567 Ulaanbaatar Mining Logistics LLC1 Customs Road *AEOPZ€ÓØÊ`*D
7654321Zamiin-Uud Transit LLC2 Customs Road *AEOPZ€ÓØÊ`*H
	MN2345678Erdenet Copper Trade LLC3 Customs Road *AEOPZ€ÓØÊ`O
	MN-2026-1@”srœŠ‰zd]ŒOÁw—ĞSËK§ÖÃÄÇæ7©e«•Õ¥ÒğVÎÌì€o-¬3"£5»£­"…®òQ”