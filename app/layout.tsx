import type { ReactNode } from "react";

export const metadata = {
  title: "Klaviyo Sync for Kommo",
  description: "Kommo deals to Klaviyo profiles, lists and flows; Klaviyo email activity back in Kommo.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: 0, background: "#f6f7f9", color: "#1b2330" }}>{children}</body>
    </html>
  );
}
