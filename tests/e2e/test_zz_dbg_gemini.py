from tests.e2e.test_provider_gemini_code_assist import gemini_bridge, emu, faulty, openai, CLIENT_KEY
def test_dbg(gemini_bridge, faulty, emu):
    faulty.set_fault("429", 2)
    client = openai.OpenAI(base_url=gemini_bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
    for i in range(2):
        try:
            client.chat.completions.create(model="limited/gemini-2.5-pro", messages=[{"role": "user", "content": "x"}])
        except Exception as e:
            print(i, e.response.headers.get("retry-after"), e)
    print([r.path for r in emu.emulators["gemini"].requests])
    print(gemini_bridge.output()[-3000:])
