í
CH€üÿ× *O
CHE123456789Basel Rheinhafen Logistik AG1 Customs Road *AEOPZ€ÓØÊ`*A
CHE987654321Geneve Fret SA2 Customs Road *AEOPZ€ÓØÊ`*G
CHE111222333Zurich Airfreight AG3 Customs Road *AEOPZ€ÓØÊ`O
	CH-2026-1@EÙÊ3nUwi„A)¼Á'îuHxˆñP°äî*›„1òº­û¿Ú/§q¿>ž[ºéUé6¹»ÖHg›@©€´’