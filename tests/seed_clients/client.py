import requests
from datetime import datetime, timedelta

TELENEXUS_API_URL = "https://api.telenexustechnologies.com"
INSTANCE_ID = "your-instance-id"
API_KEY = "your-api-key"

def send_billing_notification(customer_phone, customer_name, amount, invoice_id, message_type="payment_reminder"):
    """Send WhatsApp billing notification via Telenexus"""
    
    url = f"{TELENEXUS_API_URL}/api/v1/billing/send-notification"
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {API_KEY}"
    }
    
    # Calculate due date (7 days from now)
    due_date = (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%d")
    
    payload = {
        "phone_number": customer_phone,
        "customer_name": customer_name,
        "amount": amount,
        "currency": "KES",
        "invoice_id": invoice_id,
        "due_date": due_date,
        "message_type": message_type
    }
    
    params = {"instance_id": INSTANCE_ID}
    
    try:
        response = requests.post(url, json=payload, headers=headers, params=params)
        response.raise_for_status()
        result = response.json()
        print(f"‚úÖ Message sent! Message ID: {result['message_id']}")
        return result
    except requests.exceptions.RequestException as e:
        print(f"‚ùå Failed to send: {e}")
        if hasattr(e, 'response') and e.response is not None:
            print(f"Error details: {e.response.text}")
        raise

# Example usage
if __name__ == "__main__":
    send_billing_notification(
        customer_phone="254712345678",
        customer_name="John Doe",
        amount=1500.00,
        invoice_id="INV-2026-001",
        message_type="payment_reminder"
    )
