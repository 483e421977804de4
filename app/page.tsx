// The backend's landing page: what this is and where to go next.
export default function HomePage() {
  return (
    <main style={{ maxWidth: 640, margin: "64px auto", padding: "0 24px", lineHeight: 1.5 }}>
      <h1 style={{ fontSize: 28 }}>Klaviyo Sync for Kommo</h1>
      <p>
        This is the backend of the Kommo marketplace integration that sends every deal change in Kommo to Klaviyo
        (profiles, lists and events that start flows) and brings Klaviyo email activity back into the deal card.
      </p>
      <p>
        Install it from the Kommo marketplace, then open the widget settings in Kommo to connect a Klaviyo private API key
        and map pipeline stages to Klaviyo lists.
      </p>
      <p>
        Operators: <a href="/api/health">health</a>.
      </p>
    </main>
  );
}
