Ù
UYÄ¸ˇ◊ *Q
211234560012Montevideo Puerto Logistica SA1 Customs Road *OECPZÄ”ÿ `*D
212345670019Colonia Carnes SA2 Customs Road *OECPZÄ”ÿ `*I
UY213456780016Paysandu Forestal SA3 Customs Road *OECPZÄ”ÿ `O
	UY-2026-1@Eò£MŒ%‘¨ŒÁ†°OY%Lè’öMÈÓ°ó‡*º÷¬‡@#u˜è¡EÔoÌ5qÊT”Ú±Ûè>s	ÂHb