ï
KZ€üÿ× *J
123456789012Almaty Rail Cargo LLP1 Customs Road *Type3PZ€ÓØÊ`*H
210987654321Khorgos Gateway LLP2 Customs Road *Type1PZ€ÓØÊ`*G
KZ111122223333Astana Trade LLP3 Customs Road *Type2PZ€ÓØÊ`O
	KZ-2026-1@lÖ„½ÀNí“{¨©µŠ¶fŸ”¾ù¼qp£ÎØoZt{Ô¿õ×¢cIØf¸WÔéâG8M Ùğ